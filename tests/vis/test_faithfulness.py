import keras
import numpy as np
import pytest

from fer_core.errors import FerError
from fer_core.vis import faithfulness as D
from fer_core.vis import gradients as G


def test_deletion_and_insertion_curves(linear, faces):
    attributions = G.integrated_gradients(linear, faces, steps=4)
    probabilities = keras.ops.convert_to_numpy(linear(faces[..., None].astype("float32")))
    target = probabilities.argmax(axis=1)
    deletion = D.deletion_curve(linear, faces, attributions, steps=16)
    assert deletion.fractions.shape == (17,) and deletion.scores.shape == (len(faces), 17)
    assert deletion.fractions[0] == 0 and deletion.fractions[-1] == 1
    assert np.all((deletion.auc >= 0) & (deletion.auc <= 1)) and deletion.auc.dtype == np.float32
    np.testing.assert_allclose(deletion.scores[:, 0], probabilities[np.arange(len(faces)), target], rtol=1e-4)
    # removing the most positive evidence first must hurt more than removing it last
    assert np.all(deletion.auc < D.deletion_curve(linear, faces, -attributions, steps=16).auc)
    insertion = D.insertion_curve(linear, faces, attributions, steps=16)
    np.testing.assert_allclose(insertion.scores[:, -1], probabilities[np.arange(len(faces)), target], rtol=1e-4)
    assert np.all(insertion.auc > D.insertion_curve(linear, faces, -attributions, steps=16).auc)
    with pytest.raises(FerError, match="one 48x48 map per image"):
        D.deletion_curve(linear, faces, attributions[:2])
