"""Build the course's images and run them, with podman or Docker, on a machine with no registry.

The stage 2 and 3 chapters promise images, a compose stack and Kubernetes manifests that *run*.
This package is the one place that talks to a container engine, so the tests, ``make containers``
and the notebooks build and start containers the same way:

- `engine`: which engine (podman, else Docker), the settings it needs on this kind of machine,
  running its commands with readable errors, and removing everything the course started;
- `base`: the base image, pulled where a registry answers, else built from Debian packages;
- `wheelhouse`: the pinned wheels, downloaded once, so image builds run with no network at all;
- `images`: the images of the course and how each is built;
- `running`: a container started, waited for until ready, inspected and always removed.
"""
