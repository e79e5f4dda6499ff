"""One MPI rank, through ctypes (no compiler or MPI headers needed): MPI_Init, a barrier across
all ranks, then prints "FAKE_NODE RANK SIZE" and finalises. argv[1] is the MPI library to load:
libmpi.so.40 (Open MPI 4) or libmpich.so.12 (MPICH)."""

import ctypes
import os
import sys

library = sys.argv[1]
mpi = ctypes.CDLL(library, mode=ctypes.RTLD_GLOBAL)
if library.startswith("libmpi.so"):
    # Open MPI's MPI_COMM_WORLD is the address of ompi_mpi_comm_world.
    comm = ctypes.c_void_p(ctypes.addressof(ctypes.c_char.in_dll(mpi, "ompi_mpi_comm_world")))
else:
    # MPICH's MPI_COMM_WORLD is an integer handle.
    comm = ctypes.c_int(0x44000000)

assert mpi.MPI_Init(None, None) == 0, "MPI_Init failed"
rank, size = ctypes.c_int(), ctypes.c_int()
assert mpi.MPI_Comm_rank(comm, ctypes.byref(rank)) == 0
assert mpi.MPI_Comm_size(comm, ctypes.byref(size)) == 0
assert mpi.MPI_Barrier(comm) == 0
print(os.environ.get("FAKE_NODE"), rank.value, size.value, flush=True)
assert mpi.MPI_Finalize() == 0
