"""Scheduling: the only package that imports APScheduler. Jobs are plain functions."""
