//! The skeleton enclave runtime as a PAL API v2 shared object.
pal::export_pal!(pal_skeleton::Skeleton, 2);
