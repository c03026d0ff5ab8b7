"""What a Docker SDK request raises when the engine stops, restarts, or its ssh link drops mid-call:
DockerException and requests' errors, and, for ssh:// engines, paramiko's and socket errors raw."""

import requests
import urllib3
from docker.errors import DockerException

from .runners.ssh import SSH_ERRORS

ENGINE_ERRORS = (DockerException, requests.RequestException, urllib3.exceptions.HTTPError, *SSH_ERRORS)
