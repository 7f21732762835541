"""The docs' MathJax is served from the built site, so every formula renders without a network.

mkdocs loads this file as a hook (``hooks:`` in mkdocs.yml). At build time it takes MathJax 3.2.2,
the pinned package of the npm registry, checks the tarball against the registry's published
sha512, keeps it unpacked in ``.cache/mathjax-3.2.2/`` (git-ignored; fetched once, then read from
there), and copies the browser build (``es5/``: the TeX input, the CommonHTML output and its
fonts) into the site at ``js/mathjax/``, where mkdocs.yml's ``extra_javascript`` points.
"""
import hashlib
import io
import pathlib
import shutil
import tarfile
import urllib.request
from base64 import b64encode

VERSION = "3.2.2"
URL = f"https://registry.npmjs.org/mathjax/-/mathjax-{VERSION}.tgz"
INTEGRITY = "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / f"mathjax-{VERSION}"
#: what the page needs of es5/: the combined TeX + CommonHTML build and what it loads on demand
KEEP = ("tex-mml-chtml.js", "input", "output/chtml", "a11y", "ui", "adaptors", "sre")


class MathJaxError(RuntimeError):
    pass


def fetch():
    """``CACHE/es5``, fetched and checked the first time."""
    es5 = CACHE / "es5"
    if (es5 / "tex-mml-chtml.js").is_file():
        return es5
    try:
        data = urllib.request.urlopen(URL, timeout=60).read()
    except OSError as exc:
        raise MathJaxError(f"the docs need MathJax {VERSION} from {URL} once ({exc}); or unpack that tarball's "
                           f"package/es5 into {es5}") from None
    digest = "sha512-" + b64encode(hashlib.sha512(data).digest()).decode()
    if digest != INTEGRITY:
        raise MathJaxError(f"{URL}: the download does not match the registry's sha512 ({digest})")
    tmp = CACHE.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("package/es5/") and (m.isfile() or m.isdir())]
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}   # Python 3.12's safe extraction
        tar.extractall(tmp, members=members, **safe)
    CACHE.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(es5, ignore_errors=True)
    (tmp / "package" / "es5").rename(es5)
    shutil.rmtree(tmp, ignore_errors=True)
    return es5


def on_config(config):
    fetch()
    return config


def on_post_build(config):
    es5, out = fetch(), pathlib.Path(config["site_dir"]) / "js" / "mathjax"
    for part in KEEP:
        source = es5 / part
        if source.is_dir():
            shutil.copytree(source, out / part, dirs_exist_ok=True)
        else:
            out.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / part)
