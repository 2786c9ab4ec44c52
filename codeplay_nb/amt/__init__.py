"""Anticipatory Music Transformer backend (Thickstun et al. 2023; weights ``stanford-crfm/music-*-800k``).

``config`` (the published token layout), ``events`` and ``tokenizer`` (arrival-time encoding), ``sample``
(KV-cached sampling with grammar masks), ``model`` (loading, tiny test model), ``editing`` (bar-native
extend / infill / regenerate-track), ``roundtrip`` (reference vs our decoding). Importing this package
loads neither torch nor transformers; they are imported when a model is used.
"""
