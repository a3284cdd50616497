//! Test support: what the workflow publishes to EventBridge, caught as a subscriber would catch it —
//! a rule on the bus (`source: cf-invalidator`) with an SQS queue as its target, in moto, read back.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::control::aws_json;

/// A queue that receives every `cf-invalidator` event of one bus.
pub struct Subscriber {
    port: u16,
    queue_url: String,
}

impl Subscriber {
    /// Subscribes on `bus` (created unless it is `default`, which every account has).
    pub fn on(port: u16, bus: &str) -> Subscriber {
        if bus != "default" {
            aws_json(port, "events", "AWSEvents.CreateEventBus", &json!({"Name": bus}));
        }
        let queue_url = aws_json(port, "sqs", "AmazonSQS.CreateQueue", &json!({"QueueName": format!("events-{bus}")}))
            ["QueueUrl"]
            .as_str()
            .unwrap()
            .to_string();
        let attrs = aws_json(
            port,
            "sqs",
            "AmazonSQS.GetQueueAttributes",
            &json!({"QueueUrl": queue_url, "AttributeNames": ["QueueArn"]}),
        );
        let queue_arn = attrs["Attributes"]["QueueArn"].as_str().unwrap().to_string();
        let pattern = json!({"source": ["cf-invalidator"]}).to_string();
        aws_json(
            port,
            "events",
            "AWSEvents.PutRule",
            &json!({"Name": "invalidations", "EventBusName": bus, "EventPattern": pattern}),
        );
        aws_json(
            port,
            "events",
            "AWSEvents.PutTargets",
            &json!({"Rule": "invalidations", "EventBusName": bus, "Targets": [{"Id": "queue", "Arn": queue_arn}]}),
        );
        Subscriber { port, queue_url }
    }

    /// Every event received so far (each deleted once read).
    pub fn received(&self) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let out = aws_json(
                self.port,
                "sqs",
                "AmazonSQS.ReceiveMessage",
                &json!({"QueueUrl": self.queue_url, "MaxNumberOfMessages": 10}),
            );
            let Some(messages) = out["Messages"].as_array().filter(|m| !m.is_empty()) else { return events };
            for m in messages {
                events.push(serde_json::from_str(m["Body"].as_str().unwrap()).unwrap());
                aws_json(
                    self.port,
                    "sqs",
                    "AmazonSQS.DeleteMessage",
                    &json!({"QueueUrl": self.queue_url, "ReceiptHandle": m["ReceiptHandle"]}),
                );
            }
        }
    }

    /// Waits up to `within` for at least `n` events; returns every event received.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Value> {
        let t0 = Instant::now();
        let mut events = Vec::new();
        while events.len() < n && t0.elapsed() < within {
            events.extend(self.received());
            std::thread::sleep(Duration::from_millis(200));
        }
        events
    }
}
