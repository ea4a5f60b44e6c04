"""A Cloud Storage JSON API emulator, in-process: `app.make_app()` is the WSGI application.

Measured (issue 9): `gcp-storage-emulator` drops labels and versioning given at create, and
`fake-gcs-server` drops labels, so the sandbox emulates the parts of the JSON API lepton uses
itself. `models` holds the in-memory backend, `rules` what GCS refuses, `app` only parses
requests and serializes answers (JSON API paths, media/multipart/resumable uploads, downloads).

Knowingly less faithful than the real API:
- no authentication or authorization: any project reads any bucket (GCS answers 403 for
  another project's bucket); bucket names are still global and refused across projects (409);
- lifecycle rules are stored and returned, never executed; no soft-delete policy (a deleted
  object is gone or noncurrent at once), retention policies and holds are stored, not enforced;
- `fields` (partial responses) is ignored: the whole resource is returned; `projection=full`
  adds no `acl`/`owner`; bucket ACL and defaultObjectAcl calls answer 400 under uniform access
  (as GCS does) and 501 otherwise; object ACLs are kept only as an object patch of `acl` sets
  them; no batch endpoint, compose, XML API, signed URLs or notifications;
- no decompressive transcoding (contentEncoding gzip is served as stored);
- a location is checked against a fixed list; storage classes are not priced or transitioned;
- IAM bindings' conditions are stored, not evaluated; policy etags are the emulator's own;
- a resumable chunk that leaves a gap is refused with 503 (GCS's own behaviour there is not
  documented); sessions never expire.
"""
