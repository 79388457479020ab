"""redflags.service (the top-level folder `service/`, installed under the redflags namespace)."""
if __name__ != "redflags.service":   # `import service` from a checkout would load a second, unrelated copy
    raise ImportError("import redflags.service, not service: the folder is installed as part of the redflags package "
                      "(pip install -e . or make install)")
