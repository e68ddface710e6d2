//! The skeleton enclave runtime as a PAL API v1 shared object.
pal::export_pal!(pal_skeleton::Skeleton, 1);
