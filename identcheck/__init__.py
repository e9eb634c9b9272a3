"""identcheck: decide which latent causal variables are identifiable, and verify it empirically.

The flow: spec -> SCM -> check -> Report; spec -> simulate -> learn -> verify.

>>> import identcheck
>>> scm = identcheck.load_example("C1")
>>> scm.edges
(('z1', 'z2'),)
"""

from typing import TYPE_CHECKING

from .errors import DataError, IdentcheckError, IdentcheckWarning, NotFittedError, SpecError, TrainingError
from .examples import example_names, load_example
from .scm import SCM
from .spec import from_dict, from_graph, from_text, load_spec
from .simulate import Dataset, simulate
from .check import check
from .report import Report
from .verify import VerifyReport, verify

if TYPE_CHECKING:  # a type checker sees the learner; at run time it loads on first use (below)
    from .learn import LatentCausalVAE

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The learner needs torch; import it only when asked for, so `identcheck check` starts fast.
    if name == "LatentCausalVAE":
        from .learn import LatentCausalVAE

        return LatentCausalVAE
    raise AttributeError(f"module 'identcheck' has no attribute '{name}'")


__all__ = [
    "SCM",
    "load_spec",
    "from_dict",
    "from_text",
    "from_graph",
    "load_example",
    "example_names",
    "simulate",
    "Dataset",
    "check",
    "Report",
    "verify",
    "VerifyReport",
    "LatentCausalVAE",
    "IdentcheckError",
    "SpecError",
    "DataError",
    "NotFittedError",
    "TrainingError",
    "IdentcheckWarning",
]
