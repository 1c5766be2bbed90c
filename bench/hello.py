"""The baseline: a hello-world FastAPI app on the same server settings."""

from fastapi import FastAPI

app = FastAPI()


@app.post("/hello/")
def hello() -> dict[str, str]:
    return {"hello": "world"}
