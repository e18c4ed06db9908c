"""The `georeport` client from PyPI against a live gongzhi: services, a definition, requests and one
request, in JSON and in XML. Usage: georeport_client.py ROOT_URL SERVICE_CODE REQUEST_ID JURISDICTION"""
import sys

from georeport import GeoReport

root, code, request_id, jurisdiction = sys.argv[1:5]
for fmt in ("json", "xml"):
    client = GeoReport(root, jurisdiction=jurisdiction, output_format=fmt)
    services = client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert code in codes, (fmt, codes[:5])
    definition = client.get_service_definition(code)
    assert definition["service_code"] == code, (fmt, definition)
    requests = client.get_service_requests(service_code=code, status="open")
    if isinstance(requests, dict):  # xmltodict gives a dict for a single element
        requests = [requests]
    assert any(r["service_request_id"] == request_id for r in requests), (fmt, requests)
    one = client.get_service_request(request_id)
    assert one["service_request_id"] == request_id and one["status"] == "open", (fmt, one)
    assert "phone" not in str(one) and "first_name" not in str(one)
    print(f"georeport {fmt}: {len(services)} services, request {request_id} is {one['status']}")
