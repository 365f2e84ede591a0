"""Problems shipped with pinnsolve, one module each; every module defines ``make_problem(**kwargs)``."""
