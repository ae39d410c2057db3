"""Public docstrings follow numpydoc and document exactly the signature."""

import importlib
import inspect
import pkgutil

import pytest

import sk_reg

numpydoc_validate = pytest.importorskip("numpydoc.validate")

# Checks we hold every public docstring to (numpydoc's codes).
_CHECKED = {
    "GL08",  # missing docstring
    "PR01",  # a parameter is not documented
    "PR02",  # documented parameter not in the signature
    "PR03",  # parameters in the wrong order
    "PR06",  # "integer"/"boolean"/"string" instead of int/bool/str
    "PR10",  # "param:type" without the space
    "RT01",  # no Returns section
    "EX01",  # no Examples section
    "SS01",  # no summary
}


def _public_objects():
    seen = set()
    for info in pkgutil.iter_modules(sk_reg.__path__):
        if info.name.startswith("_") or info.name == "conftest":
            continue
        module = importlib.import_module(f"sk_reg.{info.name}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            qualname = f"{obj.__module__}.{obj.__qualname__}"
            if qualname in seen:
                continue
            seen.add(qualname)
            yield qualname
            if inspect.isclass(obj):
                for meth, member in vars(obj).items():
                    if meth.startswith("_") or not inspect.isfunction(member):
                        continue
                    yield f"{qualname}.{meth}"


PUBLIC = sorted(set(_public_objects()))


def test_public_api_is_found():
    assert "sk_reg.estimators.RegularizedNetClassifier" in PUBLIC
    assert "sk_reg.estimators.RegularizedNetClassifier.fit" in PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_numpydoc(name):
    result = numpydoc_validate.validate(name)
    errors = [(code, msg) for code, msg in result["errors"] if code in _CHECKED]
    if "RT01" in dict(errors):
        # Functions returning None (in-place updates, callbacks) need no
        # Returns section.
        source = inspect.getsource(_resolve(name))
        if "return " not in source and "yield" not in source:
            errors = [e for e in errors if e[0] != "RT01"]
    assert not errors, "\n".join(f"{code}: {msg}" for code, msg in errors)


def _resolve(name):
    module_name, _, rest = name.partition(".")
    obj = importlib.import_module(module_name)
    for part in rest.split("."):
        obj = getattr(obj, part)
    return obj
