#!/bin/sh
# Print the kustomize overlay of one deploy (what `make deploy` applies), on stdout:
#   MLFLOW_TRACKING_URI=... ci/deploy-overlay.sh MANIFESTS_DIR IMAGE ALIAS > kustomization.yaml
# One `kubectl apply` of it sets everything a deploy changes, so the Deployment rolls out once,
# straight to IMAGE: applying docker/kubernetes and then `kubectl set image` would first roll it
# back to the kustomization's placeholder tag. It also points the API at MLFLOW_TRACKING_URI, the
# registry the gate promotes in, so the environment serves the version the gate moved (not the
# in-cluster MLflow of mlflow.yaml, which the gate never sees). POSIX sh: GitLab's deploy image
# (alpine/k8s) has kubectl and a shell, and no Python.
set -eu
if [ "$#" -ne 3 ]; then
  echo "usage: MLFLOW_TRACKING_URI=... $0 MANIFESTS_DIR IMAGE ALIAS" >&2
  exit 2
fi
dir=$1 image=$2 alias=$3
: "${MLFLOW_TRACKING_URI:?set MLFLOW_TRACKING_URI: the registry the gate promotes in, which the API must read}"
case ${image##*/} in
  *:*) ;;
  *) echo "IMAGE must carry a tag (registry/name:tag): $image" >&2; exit 2 ;;
esac
case $MLFLOW_TRACKING_URI$alias in
  *'"'* | *'\'*) echo "quotes and backslashes are not allowed in MLFLOW_TRACKING_URI or ALIAS" >&2; exit 2 ;;
esac
cat <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - "$dir"
images:
  - name: mlops-course-api
    newName: "${image%:*}"
    newTag: "${image##*:}"
patches:
  - target:
      kind: ConfigMap
      name: api-config
    patch: |-
      - op: replace
        path: /data/MLOPS_TRACKING_URI
        value: "$MLFLOW_TRACKING_URI"
      - op: replace
        path: /data/MLOPS_MODEL_ALIAS
        value: "$alias"
YAML
