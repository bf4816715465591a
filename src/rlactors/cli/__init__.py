"""The ``rlactors`` command: ``rlactors train ALGORITHM [--field value ...]``, ``rlactors
evaluate RUN_DIR``. See :func:`rlactors.cli.main.main`."""
