-- wrk script for example_http_service: POST /orders with a 5-item order.
--   wrk -t1 -c64 -d5s -s examples/http_service_wrk.lua http://127.0.0.1:8080/orders
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id":"o-1","customer":"ada","items":[' ..
  '{"sku":"tea","qty":2,"price":3.5},{"sku":"cake","qty":1,"price":4.25},' ..
  '{"sku":"jam","qty":3,"price":0.99},{"sku":"tea","qty":1,"price":3.5},' ..
  '{"sku":"bread","qty":1,"price":2.1}]}'
