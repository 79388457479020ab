"""redflags.batch (the top-level folder `batch/`, installed under the redflags namespace)."""
if __name__ != "redflags.batch":   # `import batch` from a checkout would load a second, unrelated copy
    raise ImportError("import redflags.batch, not batch: the folder is installed as part of the redflags package "
                      "(pip install -e . or make install)")
