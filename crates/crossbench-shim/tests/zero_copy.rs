//! The zero-copy path (`Model::embed_view`, `EmbeddingView`) is sound and
//! delivers the same numbers as the copying path. The compile-time half of
//! the proof (no slice outlives its guard) is the compile_fail doctests in
//! src/view.rs. This file is also what `scripts/memcheck-zero-copy.sh` runs
//! under valgrind.

mod common;

use crossbench_shim::{crossing, mlx_set_cache_limit, test_array_view, Model};

/// MLX's allocator keeps freed buffers in a cache, where a read after free
/// reads valid (recycled) memory that valgrind cannot flag. Every test here
/// turns the cache off so that memcheck sees each free
/// (scripts/memcheck-zero-copy.sh, whose negative control proves it does).
fn without_mlx_buffer_cache() {
    mlx_set_cache_limit(0);
}

const PROMPT: &[u32] = &[1, 415, 2936, 9060, 285, 1142, 10575];

#[test]
fn view_and_copy_hold_bit_identical_numbers() {
    without_mlx_buffer_cache();
    let dir = common::make_tiny("float32", 3);
    let mut model = Model::load(dir.path()).unwrap();
    let copied = model.embed(PROMPT).unwrap();
    let view = model.embed_view(PROMPT).unwrap();
    assert_eq!(view.len(), 256);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&copied), bits(&view), "view and copy differ");
    assert!(view.iter().all(|x| x.is_finite()) && view.iter().any(|&x| x != 0.0));
    // The view's own copy-out (one crossing, memcpy) agrees too.
    let mut out = vec![0f32; view.len()];
    assert_eq!(view.copy_into(&mut out).unwrap(), 256);
    assert_eq!(bits(&out), bits(&view));
}

#[test]
fn data_read_before_the_guard_drops_survives_it() {
    without_mlx_buffer_cache();
    let dir = common::make_tiny("float32", 3);
    let model = Model::load(dir.path()).unwrap();
    let owned: Vec<f32> = {
        let view = model.embed_view(PROMPT).unwrap();
        view.to_vec() // read while the guard lives, then the guard drops
    };
    let again = model.embed_view(PROMPT).unwrap();
    assert_eq!(&owned[..], &again[..]);
}

#[test]
fn many_views_alive_at_once_stay_distinct_and_valid() {
    without_mlx_buffer_cache();
    let dir = common::make_tiny("float32", 3);
    let model = Model::load(dir.path()).unwrap();
    let prompts: [&[u32]; 3] = [&[1, 2, 3], &[1, 7, 9, 11], PROMPT];
    let views: Vec<_> = prompts
        .iter()
        .map(|p| model.embed_view(p).unwrap())
        .collect();
    let sums: Vec<f32> = views.iter().map(|v| v.iter().sum()).collect();
    // Dropping a view in the middle leaves the others' buffers intact.
    let mut views = views;
    drop(views.remove(1));
    assert_eq!(views[0].iter().sum::<f32>(), sums[0]);
    assert_eq!(views[1].iter().sum::<f32>(), sums[2]);
    assert_ne!(sums[0], sums[2]);
}

#[test]
fn guard_dropped_after_its_model_is_still_sound_for_test_arrays() {
    without_mlx_buffer_cache();
    // A view does not need the model's memory: the 'static test array view
    // outlives everything else here, and MLX frees it only on our drop.
    let view = test_array_view(1 << 18).unwrap();
    {
        let dir = common::make_tiny("float32", 3);
        let model = Model::load(dir.path()).unwrap();
        let _other = model.embed_view(PROMPT).unwrap();
    }
    assert_eq!(view.len(), 1 << 18);
    assert!(view.iter().enumerate().all(|(i, &x)| x == i as f32));
}

#[test]
fn bad_prompts_are_errors_not_dangling_views() {
    without_mlx_buffer_cache();
    let dir = common::make_tiny("float32", 3);
    let model = Model::load(dir.path()).unwrap();
    assert!(model.embed_view(&[]).is_err());
    assert!(model.embed_view(&[40_000]).is_err());
    assert!(test_array_view(0).is_err());
}

#[test]
fn crossing_hooks_do_what_the_benchmarks_assume() {
    without_mlx_buffer_cache();
    assert_eq!(crossing::call_callback_n(4, |x| x * 2), 12);
    let c = std::ffi::CString::new("hello").unwrap();
    assert_eq!(crossing::prompt_cstr(&c), crossing::prompt_bytes(b"hello"));
    let src: Vec<f32> = (0..8).map(|i| i as f32).collect();
    let mut dst = vec![0f32; 8];
    crossing::copy_floats(&mut dst, &src);
    assert_eq!(dst, src);
    crossing::set_float(&mut dst, 3, 42.0);
    assert_eq!(dst[3], 42.0);
    assert_eq!(crossing::borrow_floats(&src), 7.0);
    assert_eq!(crossing::mlx_eval_n(3).unwrap(), 3.0);
}

#[test]
#[should_panic(expected = "callback boom")]
fn a_panicking_int_callback_resurfaces_in_rust() {
    without_mlx_buffer_cache();
    crossing::call_callback_n(3, |x| if x == 1 { panic!("callback boom") } else { x });
}

/// Negative control for scripts/memcheck-zero-copy.sh: reading through a raw
/// pointer after its guard dropped must be reported by valgrind, which shows
/// that MLX's CPU allocator really frees the buffer (no cache hides it) and
/// so that the clean run of the tests above means something.
#[test]
#[ignore = "deliberately reads freed memory; run only under valgrind (scripts/memcheck-zero-copy.sh)"]
fn negative_control_read_after_guard_drop() {
    without_mlx_buffer_cache();
    let view = test_array_view(1024).unwrap();
    let p = view.as_ptr();
    drop(view);
    // SAFETY: none; this is the use-after-free the guard exists to prevent.
    let x = unsafe { std::ptr::read_volatile(p.add(10)) };
    std::hint::black_box(x);
}
