// One MLX stream per device shared by every thread the shim computes on
// (stream.cpp's generation threads, the serving engine's thread and whatever
// thread calls cb_engine_step). MLX gives each thread its own default stream
// and keeps a stream's worker thread for the life of the process, so a stream
// per calling thread would leave one behind per thread; and a step's arrays
// must stay on one stream whichever thread (a Go caller's goroutine moves
// between OS threads) runs the next step.
#pragma once
#include <mlx/mlx.h>

#include <mutex>

namespace cb {

// Held while computing on the shared stream: the stream is not thread-safe.
std::mutex& shared_stream_mutex();
// The device's shared stream; call with shared_stream_mutex() held.
mlx::core::Stream shared_stream(mlx::core::Device device);

}  // namespace cb
