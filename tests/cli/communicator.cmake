# [parallel] communicator, included from CMakeLists.txt (its cli_test, ${mtnlg}, ${tiny}): the name is checked
# with the recipe against the communicators of the loaded plugins, in `check` and in `train`, and a
# communicator that cannot run here says why before any rank trains.
cli_test(check_unknown_communicator 1
  "--set parallel.communicator=gloo: unknown communicator 'gloo'. known communicators: mpi(, nccl)?"
  ${mtnlg} check ${tiny} --set parallel.communicator=gloo)
cli_test(train_unknown_communicator 1 "unknown communicator 'gloo'. known communicators: mpi(, nccl)?"
  ${mtnlg} train ${tiny} --set parallel.communicator=gloo --run-dir ${CMAKE_CURRENT_BINARY_DIR}/gloo-run)
cli_test(check_mpi_communicator 0 "valid" ${mtnlg} check ${tiny} --set parallel.communicator=mpi)

# Every device hidden, so it means the same on a GPU machine: two ranks asking for nccl both stop with the reason.
if(TARGET mtnlg-comm-nccl)
  add_test(NAME cli.train_nccl_without_a_gpu
    COMMAND ${CMAKE_COMMAND} -E env CUDA_VISIBLE_DEVICES=-1 OMPI_MCA_rmaps_base_oversubscribe=1
            ${expect} nonzero
            "communicator 'nccl' \\(plugin 'comm-nccl'\\) is not available on this machine: no usable CUDA device"
            -- ${MTNLG_MPIEXEC} --allow-run-as-root --oversubscribe -np 2 ${mtnlg} train ${tiny}
            --set parallel.communicator=nccl --run-dir ${CMAKE_CURRENT_BINARY_DIR}/nccl-run)
  set_tests_properties(cli.train_nccl_without_a_gpu PROPERTIES TIMEOUT 60 RESOURCE_LOCK mpi_ranks)
  mtnlg_mpi_tests(cli.train_nccl_without_a_gpu)
endif()
