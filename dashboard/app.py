"""FER Lens dashboard: `streamlit run dashboard/app.py`.

Declares the pages and the sidebar (model picker, dataset status); each page is
a short script in app_pages/ that reads the chosen model through state.py. (Not
"pages/": a folder of that name beside app.py puts Streamlit in its older
multipage mode, and a deep link such as /filters on a fresh server then runs the
page without this file.)
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st

st.set_page_config(page_title="FER Lens", page_icon=":material/visibility:", layout="wide")
with st.spinner("Starting FER Lens: loading its libraries…"):  # seconds on a fresh server, nothing afterwards
    import background
    import catalog
    import state
    import warmup

PAGES = {
    "The model": [
        st.Page("app_pages/model.py", title="Model", icon=":material/neurology:", url_path="model", default=True),
        st.Page("app_pages/filters.py", title="Filters", icon=":material/grid_view:", url_path="filters"),
        st.Page("app_pages/compare.py", title="Compare runs", icon=":material/monitoring:", url_path="compare"),
        st.Page("app_pages/training.py", title="Training", icon=":material/model_training:", url_path="training"),
    ],
    "On FER2013": [
        st.Page(
            "app_pages/confusion.py", title="Confusion matrix", icon=":material/table_chart:", url_path="confusion"
        ),
        st.Page(
            "app_pages/misclassified.py", title="Misclassified", icon=":material/report:", url_path="misclassified"
        ),
        st.Page(
            "app_pages/saliency.py", title="Saliency", icon=":material/local_fire_department:", url_path="saliency"
        ),
        st.Page("app_pages/feature_maps.py", title="Feature maps", icon=":material/layers:", url_path="feature-maps"),
    ],
    "Yours": [st.Page("app_pages/photo.py", title="Your photo", icon=":material/photo_camera:", url_path="photo")],
}

page = st.navigation(PAGES)

with st.sidebar:
    st.title("FER Lens")
    models = catalog.model_files()
    if models:
        st.selectbox(
            "Model", list(models), index=list(models).index(catalog.default_model(models)), format_func=models.get,
            key="model",
        )
        st.selectbox(
            "Compare with",
            [None, *models],
            format_func=lambda path: "none" if path is None else models[path],
            key="compare_model",
            help="A second model, shown beside the first on Filters, Confusion matrix, Misclassified and Saliency",
        )
        warmup.warm_up(catalog.default_model(models))  # once per server, in the background
    else:
        st.warning("No model found in `assets/models/` or `runs/`.")
    if models and state.data_from_env() and not background.finished("dataset"):
        st.caption("Loading FER2013 in the background…")
    elif (data_and_status := state.dataset())[0] is not None:
        st.success(data_and_status[1])
    else:
        st.caption(f"No FER2013, so the data pages are off. {data_and_status[1]}")

page.run()
