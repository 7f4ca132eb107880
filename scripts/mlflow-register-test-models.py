#!/usr/bin/env python3
"""Registers consumerd's test models in a running MLflow tracking server (run with the Python of the venv that
scripts/ensure-mlflow builds). Used by Tests/IntegrationTests/ModelRegistryServerTests.

usage: mlflow-register-test-models.py TRACKING_URI MODEL_JSON NAME

Registers under NAME (artifacts uploaded through the server's artifact proxy):
  v1  MODEL_JSON with an MLmodel file (xgboost flavour) and its reference profile (MODEL.reference.json beside it),
      logged as run artifacts
      (source mlflow-artifacts:/<experiment>/<run>/artifacts/model); stage Production
  v2  a different model (MODEL_JSON with base_score 0.3) as an MLflow 3 logged model (source models:/m-<id>);
      alias champion
  v3  a corrupt model.json (truncated) with an MLmodel file
  v4  MODEL_JSON as the single .json artifact, no MLmodel file
and prints {"v1": 1, "v2": 2, "v3": 3, "v4": 4, "sources": {...}} (the numbers the server assigned).
"""
import json
import os
import sys
import tempfile

import mlflow
from mlflow import MlflowClient

MLMODEL = """artifact_path: model
flavors:
  xgboost:
    code: null
    data: model.json
    model_class: xgboost.core.Booster
    model_format: json
    xgb_version: 2.0.3
mlflow_version: {version}
"""


def write_model_dir(directory, model_bytes, mlmodel=True, reference=None, file_name="model.json"):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, file_name), "wb") as f:
        f.write(model_bytes)
    if mlmodel:
        with open(os.path.join(directory, "MLmodel"), "w") as f:
            f.write(MLMODEL.format(version=mlflow.__version__))
    if reference is not None:
        with open(os.path.join(directory, "model.reference.json"), "w") as f:
            json.dump(reference, f)


def log_run_model(client, experiment_id, directory):
    """Uploads `directory` as the run artifact path `model`; returns the source URI of that path."""
    run = client.create_run(experiment_id)
    client.log_artifacts(run.info.run_id, directory, artifact_path="model")
    client.set_terminated(run.info.run_id)
    return run.info.run_id, f"{run.info.artifact_uri}/model"


def main():
    tracking_uri, model_path, name = sys.argv[1:4]
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_id = client.create_experiment(f"consumerd-registry-{os.getpid()}")
    with open(model_path, "rb") as f:
        original = f.read()
    other = json.loads(original)
    other["learner"]["learner_model_param"]["base_score"] = "3E-1"
    other_bytes = json.dumps(other).encode()

    client.create_registered_model(name)
    out = {"sources": {}}
    with tempfile.TemporaryDirectory() as scratch:
        # v1: run artifacts with MLmodel and a reference file.
        d1 = os.path.join(scratch, "v1")
        # The model's real reference profile (the daemon validates it when the version is put in force).
        with open(model_path[:-len(".json")] + ".reference.json") as f:
            reference = json.load(f)
        write_model_dir(d1, original, reference=reference)
        run_id, source = log_run_model(client, experiment_id, d1)
        v1 = client.create_model_version(name, source, run_id=run_id, await_creation_for=0)
        client.transition_model_version_stage(name, v1.version, "Production")
        out["v1"] = int(v1.version)
        out["sources"]["v1"] = v1.source

        # v2: an MLflow 3 logged model.
        d2 = os.path.join(scratch, "v2")
        write_model_dir(d2, other_bytes)
        logged = client.create_logged_model(experiment_id, name="volatility-v2")
        client.log_model_artifacts(logged.model_id, d2)
        client.finalize_logged_model(logged.model_id, "READY")
        v2 = client.create_model_version(name, f"models:/{logged.model_id}", model_id=logged.model_id, await_creation_for=0)
        client.set_registered_model_alias(name, "champion", v2.version)
        out["v2"] = int(v2.version)
        out["sources"]["v2"] = v2.source

        # v3: corrupt model bytes.
        d3 = os.path.join(scratch, "v3")
        write_model_dir(d3, original[: len(original) // 2])
        run_id, source = log_run_model(client, experiment_id, d3)
        v3 = client.create_model_version(name, source, run_id=run_id, await_creation_for=0)
        out["v3"] = int(v3.version)
        out["sources"]["v3"] = v3.source

        # v4: the single .json artifact, no MLmodel.
        d4 = os.path.join(scratch, "v4")
        write_model_dir(d4, original, mlmodel=False, file_name="volatility.json")
        run_id, source = log_run_model(client, experiment_id, d4)
        v4 = client.create_model_version(name, source, run_id=run_id, await_creation_for=0)
        out["v4"] = int(v4.version)
        out["sources"]["v4"] = v4.source
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
