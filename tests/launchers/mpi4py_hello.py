"""One MPI rank through mpi4py: a barrier across all ranks, then prints "FAKE_NODE RANK SIZE" and
the values of the variables named on the command line ("-" for an unset one), then finalises."""

import os
import sys

from mpi4py import MPI

comm = MPI.COMM_WORLD
comm.Barrier()
values = [os.environ.get(name, "-") for name in sys.argv[1:]]
print(os.environ.get("FAKE_NODE"), comm.Get_rank(), comm.Get_size(), *values, flush=True)
