"""redflags.training (the top-level folder `training/`, installed under the redflags namespace)."""
if __name__ != "redflags.training":   # `import training` from a checkout would load a second, unrelated copy
    raise ImportError("import redflags.training, not training: the folder is installed as part of the redflags package "
                      "(pip install -e . or make install)")
