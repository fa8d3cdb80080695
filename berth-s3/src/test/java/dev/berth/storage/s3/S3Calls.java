package dev.berth.storage.s3;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

/**
 * Records the S3 calls a client makes and the bytes each sent and received, to show what passes
 * through the node.
 */
final class S3Calls implements ExecutionInterceptor {
  record Call(String operation, long sent, long received) {}

  private final List<Call> calls = new CopyOnWriteArrayList<>();

  @Override
  public void afterTransmission(Context.AfterTransmission context, ExecutionAttributes attributes) {
    // Payload bytes: with aws-chunked signing, Content-Length also counts the chunk signatures.
    long sent = context
        .httpRequest()
        .firstMatchingHeader("x-amz-decoded-content-length")
        .or(() -> context.httpRequest().firstMatchingHeader("Content-Length"))
        .map(Long::parseLong)
        .orElse(0L);
    String operation = attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
    long received = operation.equals("GetObject")
        ? context
            .httpResponse()
            .firstMatchingHeader("Content-Length")
            .map(Long::parseLong)
            .orElse(0L)
        : 0;
    calls.add(new Call(operation, sent, received));
  }

  void clear() {
    calls.clear();
  }

  List<String> operations() {
    return calls.stream().map(Call::operation).toList();
  }

  long count(String operation) {
    return calls.stream().filter(c -> c.operation().equals(operation)).count();
  }

  long sent(String operation) {
    return calls.stream()
        .filter(c -> c.operation().equals(operation))
        .mapToLong(Call::sent)
        .sum();
  }

  long maxSent(String operation) {
    return calls.stream()
        .filter(c -> c.operation().equals(operation))
        .mapToLong(Call::sent)
        .max()
        .orElse(0);
  }

  long received() {
    return calls.stream().mapToLong(Call::received).sum();
  }
}
