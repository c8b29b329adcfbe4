"""``fer_core.vis.filters`` re-exports the filter family under its old path."""

from fer_core.vis import ascent, dossier, filters, parameterization, stability, transforms


def test_the_old_import_path_names_the_same_functions():
    for module in (ascent, dossier, parameterization, stability, transforms):
        for name in filters.__all__:
            if getattr(getattr(module, name, None), "__module__", None) == module.__name__:
                assert getattr(filters, name) is getattr(module, name)
    assert filters.gradient_ascent is ascent.gradient_ascent and filters.stability is stability.stability
    assert filters.seed_similarity is stability.seed_similarity and filters.blur is transforms.blur
