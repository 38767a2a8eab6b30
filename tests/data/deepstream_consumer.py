# consumer.py of DeepStream's smart-record guide (seeds/003: a back-end written for
# DeepStream's Kafka messages). Its message handling is unchanged (JSON value deserializer,
# `for event in consumer: print(event.value)`); changed: broker and topic from the command
# line, an idle timeout so that it ends, a "ready" line once it is positioned at the end of
# the topic, and the dummy poll repeated until the group join completes (kafka-python 3
# joins asynchronously; the guide's 2.0.2 cannot join a consumer group on tansu).
#
#   python deepstream_consumer.py HOST:PORT TOPIC
import sys
import time
from kafka import KafkaConsumer
from json import loads
import uuid

consumer = KafkaConsumer(
    sys.argv[2],
    bootstrap_servers=sys.argv[1],
    auto_offset_reset='latest',
    enable_auto_commit=True,
    group_id=str(uuid.uuid1()),
    value_deserializer=lambda x: loads(x.decode('utf-8')),
    consumer_timeout_ms=8000,
)

# do a dummy poll to retrieve some message
consumer.poll()
while not consumer.assignment():
    consumer.poll(timeout_ms=200)

# go to end of the stream
consumer.seek_to_end()
for tp in consumer.assignment():
    consumer.position(tp)
print("ready", flush=True)

for event in consumer:
    event_data = event.value
    print(event_data, flush=True)
