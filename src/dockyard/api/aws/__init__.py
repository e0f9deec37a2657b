"""The shared AWS protocol layer: every AWS API Dockyard serves (ECR, IAM, STS) goes through it.

``model`` loads any service's botocore model; ``validate`` checks requests and responses
against its shapes; ``serialize`` renders results as JSON values or XML; ``protocols`` holds
AWS JSON 1.1 and the query protocol; ``registry`` is one operation registry per service,
checked against its model; ``errors`` maps domain errors to each service's wire errors with
codes and statuses from the model; ``sensitive`` keeps the model's secrets out of logs;
``router`` picks the service of a ``POST /`` and ``endpoint`` serves it.
"""
