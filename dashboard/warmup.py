"""The warm-up: at the first session, the default model, the dataset, its PublicTest scores and its Filters
page's first view are computed in a background thread (:mod:`background`), so the pages find them ready."""

from __future__ import annotations

from collections.abc import Callable

import background
import catalog
import state


def warm_up(path: str) -> None:
    """Once per server process, in a background thread: load TensorFlow and the model at ``path``, draw the
    first page of its Filters grid and the close-up of filter 0 while the dataset loads, then score its
    PublicTest faces (kept on disk) in one pass that also ranks the faces of the Filters page's layer; a page
    that needs one of them waits for it."""

    def work(_: Callable[[float], None]) -> None:
        # the dataset loads beside the model, in its own thread
        data = background.start("dataset", "Loading FER2013…", lambda _: state.dataset())
        key = state.model_key(path)
        state.load_model(key)
        layer = state.report_layer(key)
        if layer is not None:
            state.filter_images(key, layer, 0, min(catalog.FILTERS_PER_PAGE, state.channel_count(key, layer)))
            state.filter_seeds(key, layer, 0)
        data.done.wait()
        if state.evaluation_split() is not None:
            state.score_public(key, state.data_source()).done.wait()
            if layer is not None:
                state.filter_dossier(key, layer, state.data_source())

    background.start("warm-up", "Warming up the default model", work)
