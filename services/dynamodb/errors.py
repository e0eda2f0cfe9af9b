"""DynamoDB's errors, with the `__type` and HTTP status a real endpoint sends.

DynamoError                                  (CascadesimError)
 ├── ValidationException                     400  bad parameters or expressions
 ├── SerializationException                  400  the body is not the JSON the operation expects
 ├── UnknownOperationException               400  X-Amz-Target names no operation
 ├── ResourceNotFoundException               400  no such table
 ├── ResourceInUseException                  400  the table already exists
 ├── ConditionalCheckFailedException         400  a ConditionExpression was false
 ├── ThrottlingException                     400  the router's queue is full (SDKs retry it)
 ├── ServiceUnavailable                      503  expired work dropped by a deadline-aware router
 └── InternalServerError                     500  a bug of ours; never bad input
"""

from __future__ import annotations

from typing import Any, ClassVar

from services.errors import CascadesimError

DYNAMODB = "com.amazonaws.dynamodb.v20120810"
CORAL = "com.amazon.coral.service"
AVAILABILITY = "com.amazon.coral.availability"


class DynamoError(CascadesimError):
    namespace: ClassVar[str] = DYNAMODB
    status: ClassVar[int] = 400

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or type(self).__name__)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"__type": f"{self.namespace}#{self.code}"}
        if self.message is not None:
            body["message"] = self.message
        return body


class ValidationException(DynamoError):
    namespace = CORAL


class SerializationException(DynamoError):
    namespace = CORAL


class UnknownOperationException(DynamoError):
    namespace = CORAL


class ResourceNotFoundException(DynamoError):
    pass


class ResourceInUseException(DynamoError):
    pass


class ConditionalCheckFailedException(DynamoError):
    def __init__(self, message: str = "The conditional request failed") -> None:
        super().__init__(message)


class ThrottlingException(DynamoError):
    namespace = AVAILABILITY


class ServiceUnavailable(DynamoError):
    namespace = CORAL
    status = 503


class InternalServerError(DynamoError):
    status = 500
