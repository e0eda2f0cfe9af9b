"""The Lambda-like service: Invoke on sandboxes, function configuration in DynamoDB, an SQS-like poller."""

from services.lambda_.function import LambdaService, LambdaSettings
from services.lambda_.poller import EventSourcePoller
from services.lambda_.service import LAMBDA_NAME, LambdaStack

__all__ = ["LAMBDA_NAME", "EventSourcePoller", "LambdaService", "LambdaSettings", "LambdaStack"]
