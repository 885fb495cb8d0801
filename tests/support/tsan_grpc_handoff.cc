// Linked into every test of a SLUICE_SANITIZE=thread build (see
// sluice_cc_test): tells ThreadSanitizer what gRPC guarantees and Debian's
// uninstrumented libgrpc hides from it, that a completion happens after the
// start of the batch that carries its tag.
//
// gRPC hands a finished batch to the thread that runs its callback (the
// callback API's "nexting" threads, grpc_completion_queue_next) through a
// lock-free queue in libgrpc, whose atomics TSan cannot see. Without this,
// whatever a reactor wrote before StartWrite/StartRead and what the
// callback's thread does with it afterwards (the op set, the serialized
// message, the message a read fills) read as races. These definitions in
// the executable interpose on libgrpc's (libgrpc++ calls them through the
// PLT), release on the tag before a batch starts and acquire on it when its
// completion is taken, then call the real functions.
//
// The same for a server's end: grpc::Server::Shutdown waits until every
// call it served has run its reactor's OnDone and released the call, but
// it counts them with libgrpc++'s atomics, unseen as well. A call's
// release (grpc_call_unref, right after OnDone) releases on one shared
// object and grpc_server_destroy (in ~Server) acquires it, so what a test
// or a host tears down after its server is ordered after those OnDones.
// Coarser than gRPC's promise (every call released before, not only that
// server's), which can only hide a race against teardown, never one
// between two calls.
#include <dlfcn.h>
#include <grpc/grpc.h>
#include <sanitizer/tsan_interface.h>

#include <cstdlib>

namespace {

// What grpc_call_unref releases and grpc_server_destroy acquires.
char calls_released;

template <typename Fn>
Fn Real(const char* name) {
  void* fn = dlsym(RTLD_NEXT, name);
  if (fn == nullptr) std::abort();  // libgrpc is what called us.
  return reinterpret_cast<Fn>(fn);
}

}  // namespace

extern "C" {

grpc_call_error grpc_call_start_batch(grpc_call* call, const grpc_op* ops,
                                      size_t nops, void* tag, void* reserved) {
  using Fn =
      grpc_call_error (*)(grpc_call*, const grpc_op*, size_t, void*, void*);
  static const Fn real = Real<Fn>("grpc_call_start_batch");
  __tsan_release(tag);
  return real(call, ops, nops, tag, reserved);
}

grpc_event grpc_completion_queue_next(grpc_completion_queue* cq,
                                      gpr_timespec deadline, void* reserved) {
  using Fn = grpc_event (*)(grpc_completion_queue*, gpr_timespec, void*);
  static const Fn real = Real<Fn>("grpc_completion_queue_next");
  grpc_event event = real(cq, deadline, reserved);
  if (event.type == GRPC_OP_COMPLETE) __tsan_acquire(event.tag);
  return event;
}

grpc_event grpc_completion_queue_pluck(grpc_completion_queue* cq, void* tag,
                                       gpr_timespec deadline, void* reserved) {
  using Fn = grpc_event (*)(grpc_completion_queue*, void*, gpr_timespec, void*);
  static const Fn real = Real<Fn>("grpc_completion_queue_pluck");
  grpc_event event = real(cq, tag, deadline, reserved);
  if (event.type == GRPC_OP_COMPLETE) __tsan_acquire(event.tag);
  return event;
}

void grpc_call_unref(grpc_call* call) {
  using Fn = void (*)(grpc_call*);
  static const Fn real = Real<Fn>("grpc_call_unref");
  __tsan_release(&calls_released);
  real(call);
}

void grpc_server_destroy(grpc_server* server) {
  using Fn = void (*)(grpc_server*);
  static const Fn real = Real<Fn>("grpc_server_destroy");
  real(server);
  __tsan_acquire(&calls_released);
}

}  // extern "C"
