"""The bare Flask endpoint the storefront benchmark compares against (same server, same run)."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
