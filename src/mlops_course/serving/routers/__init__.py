"""The model API's endpoints, one router per audience: clients, operators, administrators."""
