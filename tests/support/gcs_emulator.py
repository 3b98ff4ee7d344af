"""Run gcp-storage-emulator on 127.0.0.1, with Cloud Storage's generation preconditions.

The emulator ignores `ifGenerationMatch`; real Cloud Storage answers 412 when the object's
current generation differs (0 = "must not exist yet"). The lake's create-only bronze writes
depend on that, so this launcher checks the precondition at the moment an object is
created (a simple or multipart upload, or a resumable upload's last chunk). The emulator
serves one request at a time, so the check and the creation cannot interleave.

Usage: python gcs_emulator.py --port PORT
"""

from __future__ import annotations

import argparse
import functools
import logging
from http import HTTPStatus


class GenerationMismatch(Exception):
    """The upload's ifGenerationMatch does not hold."""


def with_generation_precondition(handler, not_found):
    @functools.wraps(handler)
    def handle(request, response, storage, *args, **kwargs):
        wanted = request.query.get("ifGenerationMatch")
        if not wanted:
            return handler(request, response, storage, *args, **kwargs)
        create_file = storage.create_file

        def create_if_generation_matches(bucket_name, file_name, content, file_obj, file_id=None):
            try:
                current = str(storage.get_file_obj(bucket_name, file_name)["generation"])
            except not_found:
                current = "0"
            if current != wanted[0]:
                raise GenerationMismatch(f"{file_name}: generation {current}, required {wanted[0]}")
            return create_file(bucket_name, file_name, content, file_obj, file_id)

        storage.create_file = create_if_generation_matches
        try:
            return handler(request, response, storage, *args, **kwargs)
        except GenerationMismatch as err:
            response.status = HTTPStatus.PRECONDITION_FAILED
            response.json(
                {
                    "error": {
                        "code": 412,
                        "message": f"At least one of the pre-conditions you specified did not hold: {err}",
                        "errors": [{"reason": "conditionNotMet", "domain": "global"}],
                    }
                }
            )
        finally:
            del storage.create_file

    return handle


def install_generation_preconditions() -> None:
    from gcp_storage_emulator import server
    from gcp_storage_emulator.exceptions import NotFound
    from gcp_storage_emulator.handlers import objects

    wrapped = {
        objects.insert: with_generation_precondition(objects.insert, NotFound),
        objects.upload_partial: with_generation_precondition(objects.upload_partial, NotFound),
    }
    for _pattern, methods in server.HANDLERS:
        for method, handler in list(methods.items()):
            if handler in wrapped:
                methods[method] = wrapped[handler]
    # The router also falls back to objects.insert by name for uploads without /upload.
    objects.insert = wrapped[objects.insert]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    install_generation_preconditions()
    from gcp_storage_emulator.server import create_server

    create_server(args.host, args.port, in_memory=True).run()


if __name__ == "__main__":
    main()
