"""redflags.model (the top-level folder `model/`, installed under the redflags namespace)."""
if __name__ != "redflags.model":   # `import model` from a checkout would load a second, unrelated copy
    raise ImportError("import redflags.model, not model: the folder is installed as part of the redflags package "
                      "(pip install -e . or make install)")
