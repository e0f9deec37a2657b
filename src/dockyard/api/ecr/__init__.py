"""The ECR control-plane adapter: AWS JSON 1.1 over ``POST /``, shaped by botocore's ECR model.

``dockyard.api.ecr.shapes`` loads that model and checks request bodies against each
operation's input shape (reporting violations the way ECR does) and our responses against
its output shape. No operation is described by hand: the model is the only source of shapes.
"""
