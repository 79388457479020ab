"""interview-redflags: find the red flags in a candidate's account of an interview, and advise."""

__version__ = "0.1.0"
