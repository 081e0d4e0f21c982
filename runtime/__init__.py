"""atlas-fn: a local runtime for MongoDB Atlas App Services webhook and endpoint functions.

Owns: the package and its version. Must not import anything: worker processes import this
package, and anything imported here would be dragged into every worker.
"""

__version__ = "0.1.0"
