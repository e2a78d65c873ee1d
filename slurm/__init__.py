"""SLURM launching: submitit job arrays (non-blocking, requeue with resume), code snapshots, scheduler queries."""
