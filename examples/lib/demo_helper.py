"""Found only through the PYTHONPATH that train.py sets."""


def greeting():
    return "demo_helper imported through PYTHONPATH, before the interpreter started"
