"""``python -m pinnsolve …`` (what ``torchrun --nproc-per-node=K -m pinnsolve …`` runs): the CLI."""

from .cli.app import main

main()
