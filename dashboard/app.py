"""FER Lens dashboard: `streamlit run dashboard/app.py`.

Declares the pages and the sidebar (model picker, dataset status); each page is
a short script in app_pages/ that reads the chosen model through state.py. (Not
"pages/": a folder of that name beside app.py puts Streamlit in its older
multipage mode, and a deep link such as /filters on a fresh server then runs the
page without this file.)

The page's heading is written first, before the libraries load and the warm-up starts, so that a page
opened on a fresh server shows what it is at once.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st

# url path -> (script in app_pages/, title in the navigation, heading on the page, icon); one group per section
PAGES = {
    "The model": {
        "model": ("model.py", "Model", "Model", "neurology"),
        "filters": ("filters.py", "Filters", "Filters", "grid_view"),
        "compare": ("compare.py", "Compare runs", "Compare runs", "monitoring"),
        "training": ("training.py", "Training", "Training", "model_training"),
    },
    "On FER2013": {
        "confusion": ("confusion.py", "Confusion matrix", "Confusion matrix", "table_chart"),
        "misclassified": ("misclassified.py", "Misclassified", "Misclassified faces", "report"),
        "saliency": ("saliency.py", "Saliency", "Saliency", "local_fire_department"),
        "feature-maps": ("feature_maps.py", "Feature maps", "Feature maps", "layers"),
    },
    "Yours": {"photo": ("photo.py", "Your photo", "Your photo", "photo_camera")},
}

st.set_page_config(page_title="FER Lens", page_icon=":material/visibility:", layout="wide")
sections, headings = {}, {}  # section -> its st.Page list; st.Page -> the heading written on it
for section, group in PAGES.items():
    sections[section] = []
    for url, (script, title, heading, icon) in group.items():
        entry = st.Page(f"app_pages/{script}", title=title, icon=f":material/{icon}:", url_path=url,
                        default=url == "model")
        sections[section].append(entry)
        headings[entry] = heading
page = st.navigation(sections)
st.title(headings[page])

with st.spinner("Starting FER Lens: loading its libraries…"):  # seconds on a fresh server, nothing afterwards
    import background
    import catalog
    import charts  # noqa: F401 (Plotly, imported here before the warm-up thread competes for the CPU)
    import state
    import warmup

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
