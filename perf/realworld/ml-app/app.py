"""A small prediction service: a scikit-learn model trained at import on synthetic data, served by FastAPI.

    uvicorn app:app --host 0.0.0.0        # then: curl -s localhost:8000/health
    curl -s -X POST localhost:8000/predict -H 'content-type: application/json' -d '{"a": 1, "b": 2, "c": 0}'
"""

import numpy as np
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

VERSION = "1"
FEATURES = ["a", "b", "c"]

# Synthetic data: the label is whether a + 2b - c is positive, with some noise.
rng = np.random.default_rng(seed=0)
frame = pd.DataFrame(rng.normal(size=(2000, 3)), columns=FEATURES)
frame["label"] = ((frame.a + 2 * frame.b - frame.c + rng.normal(scale=0.3, size=len(frame))) > 0).astype(int)
train, test = train_test_split(frame, test_size=0.25, random_state=0)
model = RandomForestClassifier(n_estimators=50, random_state=0).fit(train[FEATURES], train["label"])
ACCURACY = float(model.score(test[FEATURES], test["label"]))

app = FastAPI(title="ml-app", version=VERSION)


class Features(BaseModel):
    a: float
    b: float
    c: float


@app.get("/health")
def health() -> dict:
    return {"status": "ok", "version": VERSION, "accuracy": round(ACCURACY, 3)}


@app.post("/predict")
def predict(features: Features) -> dict:
    row = pd.DataFrame([[features.a, features.b, features.c]], columns=FEATURES)
    probability = float(model.predict_proba(row)[0][1])
    return {"label": int(probability >= 0.5), "probability": round(probability, 3)}
