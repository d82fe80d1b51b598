"""WSGI entry point: `gunicorn run:app`, `flask --app run ...`."""
from app import create_app
from app.headers import RequestHandler

app = create_app()

if __name__ == "__main__":
    # `make run`: one process serves the app and runs the worker (outbox, SLA ladder).
    if app.config["OUTBOX_IN_PROCESS"]:
        from app.worker import start_in_background

        start_in_background(app)
    app.run(host=app.config["HOST"], port=app.config["PORT"], request_handler=RequestHandler)
