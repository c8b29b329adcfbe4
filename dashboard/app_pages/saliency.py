"""Saliency: five methods side by side on one face, with the sanity check and faithfulness curves on demand."""

import charts
import pandas as pd
import guards
import state
import streamlit as st
import widgets

split = guards.require_data()
key = guards.require_model()

source = st.radio("Face", ["from PublicTest", "upload"], horizontal=True, key="sal_source")
picked = widgets.pick_dataset_face(split, "sal") if source == "from PublicTest" else widgets.pick_uploaded_face("sal")
if picked is None:
    st.info("Upload an image of one face (it is resized whole to 48x48 gray; the Your photo page finds faces).")
    st.stop()
face, caption = picked

left, right = st.columns([1, 4])
with left:
    probabilities = state.probabilities_of(key, face[None])[0]
    widgets.show_face(face, f"{caption}  \n{widgets.top3_caption(probabilities)}")
other = guards.compared_model()
with right:
    target = widgets.target_picker("sal")
    alpha = st.slider("Overlay opacity", 0.0, 1.0, 0.5, 0.05, key="sal_alpha")
    for shown in (key, other) if other is not None else (key,):
        if other is not None:
            row_probabilities = state.probabilities_of(shown, face[None])[0]
            st.caption(f"**{state.model_label(shown)}**: {widgets.top3_caption(row_probabilities)}")
        widgets.saliency_overlays(shown, face, target, alpha)

st.subheader("Checks on demand")
check, curves = st.columns(2)
if check.button("Randomization sanity check", key="sal_sanity"):
    with st.spinner("Re-initializing every weight and recomputing each map…"):
        scores = state.sanity_check(key, face, target)
    check.dataframe(
        pd.DataFrame({"method": [state.METHOD_TITLES[m] for m in scores], "rank correlation": list(scores.values())}),
        hide_index=True,
        key="sal_sanity_table",
    )
    check.caption(
        "Spearman correlation between the map on this model and on a fully randomized copy "
        "(Adebayo et al. 2018): low means the map depends on what the model learned."
    )
method = curves.selectbox(
    "Map for the curves", state.SALIENCY_METHODS, format_func=state.METHOD_TITLES.get, key="sal_curve_method"
)
if curves.button("Deletion / insertion curves", key="sal_curves"):
    with st.spinner("Deleting and inserting pixels…"):
        found = state.faithfulness(key, face, method, target)
    curves.plotly_chart(
        charts.faithfulness_curves(found["fractions"], found["deletion"], found["insertion"]), key="sal_curve_chart"
    )
    curves.caption(
        f"Area under deletion {found['deletion_auc']:.3f}, insertion {found['insertion_auc']:.3f} "
        "(Petsiuk et al. 2018)."
    )
