"""A bare Flask app that answers a constant: the ceiling for the HTTP throughput benchmark."""
from flask import Flask

app = Flask(__name__)


@app.route("/", methods=["GET", "POST"])
def constant():
    return {"status": "ok"}
