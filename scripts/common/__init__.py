"""The scripts' shared library: :mod:`common.reproduce` (runs through the config path, tables, figures)
and :mod:`common.measure` (peak memory). A script finds it by putting ``scripts/`` on ``sys.path``."""
